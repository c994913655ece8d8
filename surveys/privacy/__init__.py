"""Every anonymity rule of publication, each with the attack it stops (docs/privacy.md).

- `rules`: the rules themselves (thresholds, the remainder rule), with no database access;
- `units`: the reporting units a round counts people in, from its frozen tree alone;
- `publication`: which figures a round publishes (units shown on their own count, rests
  passed up until they reach k);
- `tables`: the shapes of a round's raw counts and of the Results about to be written;
- `comments`: which comment texts a released node shows;
- `audit`: the independent auditor. It imports the rules and the tables, never the
  publication or the aggregation it checks, and re-derives every figure from the raw rows.
"""
