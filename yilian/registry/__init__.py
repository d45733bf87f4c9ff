"""Registry: institutions, campuses, departments, practitioners, patients (master patient index,
患者主索引), family relations (家庭关系) and consents (授权)."""
