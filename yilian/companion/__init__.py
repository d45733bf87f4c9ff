"""Family follows a visit live, with consent (亲情云伴诊): per-visit consents and the relative's feed."""
