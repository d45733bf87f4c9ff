"""Scheduling: 排班, 放号, 预约挂号, 一号管三天 and 候诊叫号 (queues)."""
