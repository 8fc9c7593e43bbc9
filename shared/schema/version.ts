// The newest migration this code expects. A test keeps it equal to the newest file in migrations/,
// so `health` can say whether the database has caught up with the code that is running.
export const EXPECTED_SCHEMA_VERSION = "20261204000600";
