/* ---
kind: table
publish: true
tags: [dims]
description: Enterprises (consignees and brokers) as of the as-of date.
tests:
  - unique: [ent_code]
  - not_null: [ent_code]
  - accepted_values: {column: credit_class, values: [advanced_certified, general, dishonest]}
--- */
SELECT
    ent_code, uscc, name, kind, credit_class, registered_customs,
    kind IN ('broker', 'both') AS is_broker,
    updated_at AS record_updated_at
FROM stg_enterprises
