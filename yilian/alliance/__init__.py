"""Alliance work: two-way referral (双向转诊), expert sittings (专家下沉坐诊), shared reading centres."""
