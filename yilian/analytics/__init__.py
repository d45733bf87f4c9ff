"""analytics: the city's and the hospitals' indicators (统计分析) — definitions as data, monthly facts
refreshed from every area's bulk reads, dashboards and the monthly report (docs/indicators.md)."""
