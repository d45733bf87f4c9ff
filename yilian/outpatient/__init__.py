"""Outpatient: encounters (就诊), diagnoses coded in ICD-10 (医保版) and orders of four kinds —
prescriptions (处方), lab tests (检验), exams (检查) and treatments (治疗) — with their lifecycle
开立 (placed) → 计费 (charged) → 执行 / 发药 (performed) → 完成 (completed), or 撤销 (cancelled)."""
