<?php
// Oracle for tests/versions_packagist.rs, from composer/semver (Debian's
// php-composer-semver, which the composer package depends on). Reads lines
//   N<TAB>version           -> VersionParser::normalize(version), or E
//   C<TAB>A<TAB>B           -> Comparator: "<", "=" or ">" (one must hold)
require '/usr/share/php/Composer/Semver/autoload.php';

use Composer\Semver\Comparator;
use Composer\Semver\VersionParser;

$parser = new VersionParser();
$out = '';
while (($line = fgets(STDIN)) !== false) {
    $f = explode("\t", rtrim($line, "\n"));
    if ($f[0] === 'N') {
        try {
            $out .= $parser->normalize($f[1]) . "\n";
        } catch (\UnexpectedValueException $e) {
            $out .= "E\n";
        }
    } else {
        [$_, $a, $b] = $f;
        $lt = Comparator::lessThan($a, $b);
        $eq = Comparator::equalTo($a, $b);
        $gt = Comparator::greaterThan($a, $b);
        $out .= ($lt + $eq + $gt === 1 ? ($lt ? '<' : ($eq ? '=' : '>')) : '?') . "\n";
    }
}
echo $out;
