"""Smart insurance audit (医保智能审核): rule library, per-claim and batch engines, runs and review."""
