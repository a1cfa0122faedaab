#!/usr/bin/perl
# tests/mkmmdb.pl OUT.mmdb - builds the suite's small GeoIP2-Country test
# database with MaxMind::DB::Writer (Debian: libmaxmind-db-writer-perl).
# Nothing is downloaded.  remove_reserved_networks => 0 is required, or
# the documentation and loopback ranges used here are silently dropped.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my %types = (country => 'map', names => 'map', iso_code => 'utf8_string',
	     en => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(
	ip_version => 6, record_size => 24, database_type => 'GeoIP2-Country',
	languages => ['en'], description => { en => 'smtp-session test data' },
	map_key_type_callback => sub { $types{ $_[0] } },
	remove_reserved_networks => 0, alias_ipv6_to_ipv4 => 1);
sub c { { country => { iso_code => $_[0], names => { en => $_[1] } } } }
$tree->insert_network('127.0.0.0/8',    c('ZZ', 'Loopback Test'));
$tree->insert_network('10.0.0.0/8',     c('DE', 'Germany'));
$tree->insert_network('192.0.2.0/24',   c('FR', 'France'));
$tree->insert_network('198.51.100.0/24', c('CN', 'China'));
$tree->insert_network('2001:db8::/32',  c('NL', 'Netherlands'));
open my $fh, '>:raw', $ARGV[0] or die "$ARGV[0]: $!";
$tree->write_tree($fh);
close $fh or die $!;
