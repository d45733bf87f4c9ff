"""Workbench: role workstations that compose several areas on one screen — the doctor's outpatient
workstation (门诊医生工作站) first."""
