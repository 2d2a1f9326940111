//! Reports: findings and verdicts as a table, SARIF 2.1.0, CycloneDX vulnerabilities.
