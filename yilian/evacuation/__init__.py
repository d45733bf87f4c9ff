"""Fire evacuation command (消防应急疏散智能指挥): building model, hazards, route planning."""
