#!/usr/bin/perl
# check-docs.pl: keep the documents honest.  Compares what docs/PROTOCOL.md
# says (message types, who sends them, their fields, field tags, error
# codes and classes, the phase table) with what the code defines
# (common/proto.h, and the tables protodump prints from common/proto.c),
# and every documented constant, written "`NAME` (value)" or
# "**value** (`NAME`", with its #define or enum in the sources.
# Exit 0 when they agree; otherwise one line per difference, and 1.
use strict;
use warnings;

my $src = $ENV{top_srcdir} // '.';
my $build = $ENV{top_builddir} // '.';
my @problems;
sub problem { push @problems, join('', @_) }

sub slurp {
	my ($path) = @_;
	open(my $fh, '<', $path) or die "check-docs: $path: $!\n";
	local $/;
	my $text = <$fh>;
	close($fh);
	return $text;
}

# --- What the code says -----------------------------------------------
my (%msg, %field, %phase, %tag, %err, $ceiling);
open(my $dump, '-|', "$build/tests/docs/protodump")
    or die "check-docs: protodump: $!\n";
while (<$dump>) {
	chomp;
	my @w = split ' ';
	if ($w[0] eq 'msg') {
		$msg{$w[2]} = { type => hex($w[1]), dir => $w[3] };
	} elsif ($w[0] eq 'field') {
		$field{$w[1]}{$w[2]} = { kind => $w[3], req => $w[4],
		    max => $w[5] };
	} elsif ($w[0] eq 'phase') {
		$phase{$w[1]}{$w[2]} = 1;
	} elsif ($w[0] eq 'tag') {
		$tag{$w[2]} = { tag => hex($w[1]), kind => $w[3] };
	} elsif ($w[0] eq 'error') {
		$err{$w[2]} = { code => $w[1], fatal => $w[3] };
	} elsif ($w[0] eq 'ceiling') {
		$ceiling = $w[1];
	}
}
close($dump) or die "check-docs: protodump failed\n";

# proto.h's enums must match the name tables protodump read.
my $proto_h = slurp("$src/common/proto.h");
sub enum_body {
	my ($name) = @_;
	$proto_h =~ /enum $name \{(.*?)\};/s or die "no enum $name\n";
	my %e;
	my $body = $1;
	$e{$1} = $2 while $body =~ /^\s*(\w+)\s*=\s*(0x[0-9a-fA-F]+|\d+)/mg;
	return %e;
}
my %enum_msg = enum_body('msg_type');
my %enum_tag = enum_body('field_tag');
my %enum_err = enum_body('err_code');
my %msg_by_type = map { $msg{$_}{type} => $_ } keys %msg;
for my $e (sort keys %enum_msg) {
	my $v = oct($enum_msg{$e});
	problem("proto.h $e ($enum_msg{$e}) has no name in proto.c")
	    unless exists $msg_by_type{$v};
}
problem("proto.c names message $_, not in proto.h's enum msg_type")
    for grep { my $t = $msg{$_}{type};
	!grep { oct($enum_msg{$_}) == $t } keys %enum_msg } sort keys %msg;
for my $e (sort keys %enum_tag) {
	if (!exists $tag{$e}) {
		problem("proto.h $e has no name in proto.c's field_names");
	} elsif ($tag{$e}{tag} != oct($enum_tag{$e})) {
		problem("proto.c names tag $tag{$e}{tag} $e; proto.h says ",
		    $enum_tag{$e});
	}
}
problem("proto.c names $_, not in proto.h's enum field_tag")
    for grep { !exists $enum_tag{$_} } sort keys %tag;
for my $e (sort keys %enum_err) {
	(my $n = $e) =~ s/^ERR_//;
	problem("proto.h $e has no name in proto.c") unless exists $err{$n};
}

# --- What docs/PROTOCOL.md says ---------------------------------------
my $protocol = slurp("$src/docs/PROTOCOL.md");
my (%dmsg, %dtag, %derr, %dphase);
for my $line (split /\n/, $protocol) {
	next unless $line =~ /^\|/;
	my @c = map { s/^\s+|\s+$//gr } split /\|/, $line;
	shift @c;
	if ($c[0] =~ /^0x([0-9a-f]{4})$/ && $c[1] =~ /^`(F_\w+)`$/) {
		$dtag{$1} = { tag => hex($c[0]), kind => $c[2] };
	} elsif ($c[0] =~ /^0x[0-9a-f]{4}$/ && $c[1] =~ /^[A-Z_]+$/) {
		problem("PROTOCOL.md lists $c[1] twice") if $dmsg{$c[1]};
		$dmsg{$c[1]} = { type => hex($c[0]), dir => $c[2],
		    fields => $c[3] // '' };
	} elsif ($c[0] =~ /^\d+$/ && $c[1] =~ /^`([A-Z_]+)`$/) {
		my $name = $1;
		$derr{$name} = { code => $c[0], fatal => $c[2] };
	} elsif ($c[0] =~ /^(greeting|account|chat)$/) {
		my $p = $1;
		$dphase{$p}{$_} = 1 for $c[3] =~ /\b([A-Z][A-Z_]+)\b/g;
	}
}

# Messages: number, sender, fields.
my %dir_text = (
	client => qr/^client$/, server => qr/^server$/,
	either => qr/^either$/, worker => qr/worker → broker/,
	broker => qr/broker → worker/, ctl => qr/securechatctl/,
	keylink => qr/worker → key process/,
	keyproc => qr/key process → worker/,
	internal => qr/^(master → |broker → master|template → master|(template, )?key process → master)/,
);
for my $n (sort keys %msg) {
	my $m = $msg{$n};
	my $d = $dmsg{$n};
	if (!$d) {
		problem(sprintf("PROTOCOL.md has no row for message %s " .
		    "(0x%04x)", $n, $m->{type}));
		next;
	}
	problem(sprintf("PROTOCOL.md gives %s the type 0x%04x; the code " .
	    "0x%04x", $n, $d->{type}, $m->{type}))
	    if $d->{type} != $m->{type};
	problem("PROTOCOL.md: $n is sent by '$d->{dir}'; the code: " .
	    $m->{dir}) unless $d->{dir} =~ $dir_text{$m->{dir}};
	next if $m->{dir} eq 'internal';	# built and read by hand
	check_fields($n, $d->{fields}, $field{$n} // {});
}
problem("PROTOCOL.md lists message $_, which the code does not have")
    for grep { !exists $msg{$_} } sort keys %dmsg;

sub check_fields {
	my ($n, $text, $code) = @_;
	my %doc;
	$text =~ s/\([^()]*\)//g;		# remarks
	$text =~ s/\*\*//g;
	for my $part (split /;/, $text) {
		my ($names, $rest) = ($part, '');
		if ($part =~ /^(.*?)\b(u8|u16|u32|u64|str|bytes)\s+(req|opt)\b(.*)$/) {
			($names, $rest) = ($1, $4);
			my ($kind, $req) = ($2, $3);
			my ($max) = $rest =~ /^\s*(?:≤\s*)?(\d+)/;
			for my $f ($names =~ /`(F_\w+)`/g) {
				$doc{$f} = { kind => $kind, req => $req,
				    max => $max };
			}
		}
		# Names mentioned without a kind (e.g. "exactly one of").
		for my $f ("$names $rest" =~ /`(F_\w+)`/g) {
			$doc{$f} //= {};
		}
	}
	for my $f (sort keys %$code) {
		my ($c, $d) = ($code->{$f}, $doc{$f});
		if (!$d) {
			problem("PROTOCOL.md: $n lacks its field $f");
			next;
		}
		next unless $d->{kind};
		problem("PROTOCOL.md: $n $f is $d->{kind} $d->{req}; the " .
		    "code: $c->{kind} $c->{req}")
		    if $d->{kind} ne $c->{kind} || $d->{req} ne $c->{req};
		next unless $c->{kind} =~ /^(str|bytes)$/;
		if (defined $d->{max} && $d->{max} != $c->{max}) {
			problem("PROTOCOL.md: $n $f at most $d->{max} bytes; " .
			    "the code: $c->{max}");
		} elsif (!defined $d->{max} && $c->{max} != $ceiling) {
			problem("PROTOCOL.md: $n $f: no size given; the " .
			    "code: at most $c->{max}");
		}
	}
	problem("PROTOCOL.md: $n has a field $_ the code does not accept")
	    for grep { !exists $code->{$_} } sort keys %doc;
}

# Field tags: number and kind.
for my $f (sort keys %tag) {
	my $d = $dtag{$f};
	if (!$d) {
		problem("PROTOCOL.md 3.2 has no row for the tag $f");
		next;
	}
	problem(sprintf("PROTOCOL.md gives %s the tag 0x%04x; the code " .
	    "0x%04x", $f, $d->{tag}, $tag{$f}{tag}))
	    if $d->{tag} != $tag{$f}{tag};
	problem("PROTOCOL.md: tag $f is $d->{kind}; the messages that " .
	    "carry it: $tag{$f}{kind}")
	    if $tag{$f}{kind} ne '-' && $d->{kind} ne $tag{$f}{kind};
}
problem("PROTOCOL.md lists the tag $_, which the code does not have")
    for grep { !exists $tag{$_} } sort keys %dtag;

# Error codes: number and class.
for my $e (sort keys %err) {
	my $d = $derr{$e};
	if (!$d) {
		problem("PROTOCOL.md 2.5 has no row for the error $e");
		next;
	}
	problem("PROTOCOL.md gives $e the code $d->{code}; the code " .
	    $err{$e}{code}) if $d->{code} != $err{$e}{code};
	problem("PROTOCOL.md: $e fatal '$d->{fatal}'; the code " .
	    "(proto_err_is_fatal) '$err{$e}{fatal}'")
	    if $d->{fatal} ne $err{$e}{fatal};
}
problem("PROTOCOL.md lists the error $_, which the code does not have")
    for grep { !exists $err{$_} } sort keys %derr;

# The phase table.
for my $p (qw(greeting account chat)) {
	for my $n (sort keys %{$phase{$p} // {}}) {
		problem("PROTOCOL.md 1.1: the $p phase permits $n in the " .
		    "code, not in the table") unless $dphase{$p}{$n};
	}
	for my $n (sort keys %{$dphase{$p} // {}}) {
		problem("PROTOCOL.md 1.1: the table permits $n in the $p " .
		    "phase, the code does not") unless $phase{$p}{$n};
	}
}

# --- Documented constants ---------------------------------------------
my %const;
for my $f (glob("$src/common/*.[ch] $src/daemon/*.[ch] $src/client/*.[ch]")) {
	my $t = slurp($f);
	while ($t =~ /^#define\s+([A-Z][A-Z0-9_]+)\s+([-0-9x*+() uUL]+?)\s*(?:\/\*.*)?$/mg) {
		my ($n, $e) = ($1, $2);
		$e =~ s/(\d)[uUL]+/$1/g;
		next unless $e =~ /\d/;
		$const{$n} = eval $e;
	}
	while ($t =~ /^\s+([A-Z][A-Z0-9_]+)\s*=\s*(\d+),/mg) {
		$const{$1} //= $2;
	}
}
my %unit = ('' => 1, 'KiB' => 1024, 'MiB' => 1024 * 1024, 'bytes' => 1,
    's' => 1, 'ms' => 1);
my @docs = (glob("$src/docs/*.md"), "$src/README.md",
    glob("$src/man/*.[0-9]"));
for my $f (@docs) {
	my $t = slurp($f);
	(my $short = $f) =~ s{^\Q$src\E/}{};
	my @found;
	while ($t =~ /`([A-Z][A-Z0-9_]{2,})`\s+\(([0-9][0-9,]*)(?: ([A-Za-z]+))?\)/g) {
		push @found, [$1, $2, $3 // ''];
	}
	while ($t =~ /\*\*([0-9][0-9,]*)\*\* \(`([A-Z][A-Z0-9_]{2,})`/g) {
		push @found, [$2, $1, ''];
	}
	for my $c (@found) {
		my ($n, $v, $u) = @$c;
		$v =~ s/,//g;
		if (!exists $unit{$u}) {
			problem("$short: `$n` ($v $u): unknown unit '$u'");
			next;
		}
		if (!defined $const{$n}) {
			problem("$short: `$n` is not a constant in the code");
			next;
		}
		problem("$short: `$n` is $v $u; the code says $const{$n}")
		    if $v * $unit{$u} != $const{$n};
	}
}

if (@problems) {
	print "docs drift: $_\n" for @problems;
	printf "%d difference(s) between the documents and the code\n",
	    scalar @problems;
	exit 1;
}
printf "ok: %d messages, %d tags, %d errors, the phases and the " .
    "documented constants agree with the code\n",
    scalar(keys %msg), scalar(keys %tag), scalar(keys %err);
exit 0;
