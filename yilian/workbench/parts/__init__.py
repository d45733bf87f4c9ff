"""Named parts of the doctor's outpatient workstation: each takes the visit it shows and redraws itself
when the visit changes (``Visit.listen``)."""
