<?php
// Oracle for tests/versions_packagist.rs: reads "A<TAB>B" lines and prints
// PHP's version_compare(A, B) (-1, 0 or 1), one line each.
$out = '';
while (($line = fgets(STDIN)) !== false) {
    [$a, $b] = explode("\t", rtrim($line, "\n"), 2);
    $out .= version_compare($a, $b) . "\n";
}
echo $out;
