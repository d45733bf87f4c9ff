"""Regional results registry and mutual recognition of lab and imaging results (检查检验结果互认)."""
