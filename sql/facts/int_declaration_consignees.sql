/* ---
kind: keyed
tags: [facts, clearance]
description: >
  The consignee of each declaration that a refund claim, a transit, a
  modification request, a guarantee or an inspection names: the rules about
  those records (A07, A12, A13, A14, A17, A18, A19, A26) name the consignee
  as the enterprise of their warnings, and join this table, a fifth of the
  declarations at a year, instead of reading the whole declarations state
  for that one column every night. A declaration no such record names any
  more, or that was deleted, has no row.
unique_key: decl_no
tests:
  - unique: [decl_no]
  - not_null: [decl_no]
scope: |
  -- The declaration a changed record names, in either version (a record
  -- moved to another declaration, or deleted, may leave its old one
  -- unnamed); and a declaration whose consignee changed, which counts a new
  -- or deleted declaration (diff.declarations).
  SELECT decl_no FROM changed.refunds
  UNION ALL SELECT decl_no FROM changed.transits
  UNION ALL SELECT decl_no FROM changed.modification_requests
  UNION ALL SELECT decl_no FROM changed.guarantees
  UNION ALL SELECT decl_no FROM changed.inspections
  UNION ALL SELECT decl_no FROM diff.declarations WHERE consignee_code
--- */
-- The scope's declarations that such a record names now.
WITH named AS (
    SELECT decl_no FROM stg_refunds WHERE decl_no IN (SELECT key FROM scope)
    UNION SELECT decl_no FROM stg_transits WHERE decl_no IN (SELECT key FROM scope)
    UNION SELECT decl_no FROM stg_modification_requests WHERE decl_no IN (SELECT key FROM scope)
    UNION SELECT decl_no FROM stg_guarantees WHERE decl_no IN (SELECT key FROM scope)
    UNION SELECT decl_no FROM stg_inspections WHERE decl_no IN (SELECT key FROM scope)
)
SELECT d.decl_no, d.consignee_code
FROM lookup_declarations((SELECT list(decl_no) FROM named)) AS d
