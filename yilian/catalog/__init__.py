"""Catalog: reference data shared by every area — the price catalogue of service items and drugs
(医疗服务项目 / 药品目录) with insurance classes (甲 / 乙 / 丙), and ICD-10 diagnosis codes (医保版)."""
