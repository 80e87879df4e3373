-- Built-in catalog packages (issue 17). Keep in step with ../postgres/0028_package_catalog.sql.
-- builtin is the catalog key of a package Wacht ships, NULL for the
-- administrators' own; the server refreshes built-in rows from its code.
ALTER TABLE packages ADD COLUMN builtin TEXT;
CREATE UNIQUE INDEX packages_builtin ON packages (builtin) WHERE builtin IS NOT NULL;
