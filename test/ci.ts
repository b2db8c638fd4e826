/**
 * The one reading of the CI flag (test/README.md): with CI=true (or 1) a missing dependency
 * fails a test instead of skipping it, so nothing CI runs is skipped. Tests and benchmarks
 * import it; outside CI a test whose tool is missing skips and says what to install.
 */
export const CI = process.env.CI === 'true' || process.env.CI === '1';
