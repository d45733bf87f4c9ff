"""Pharmacy: the pharmacist's review queue (审方) and the dispensing window (发药) — stock per pharmacy in
batches with expiry, dispensed first-to-expire first-out (FEFO), a second check (双人核对), labels,
returns of undispensed drugs (退药) and the window's call screen (叫号屏)."""
