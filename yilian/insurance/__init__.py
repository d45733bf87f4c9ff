"""Insurance: the settlement split (医保结算分割) and the smart insurance audit (医保智能审核)."""
