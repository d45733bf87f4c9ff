"""Demo outpatient record templates (门诊病历模板): one for every department and a few per specialty."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yilian.outpatient import record_service
from yilian.registry import service as registry

GENERAL = {
    "chief_complaint": "",
    "past_history": "否认高血压、糖尿病、冠心病史；否认手术外伤史。",
    "physical_exam": "T 36.5℃，P 78次/分，R 18次/分，BP 120/80mmHg。神清，心肺听诊未见明显异常。",
}
BY_SPECIALTY = {
    "内分泌": (
        "糖尿病复诊",
        {
            "chief_complaint": "口干、多饮、多尿",
            "present_illness": "患者近期血糖控制欠佳，空腹血糖 8–10mmol/L，无低血糖发作。",
            "past_history": "2型糖尿病病史；否认药物过敏史。",
            "physical_exam": "BP 130/80mmHg，BMI 26。双足背动脉搏动可，足部感觉正常。",
            "advice": "糖尿病饮食，规律运动，监测血糖，2周后复诊。",
        },
    ),
    "呼吸": (
        "上呼吸道感染",
        {
            "chief_complaint": "咳嗽、咽痛",
            "present_illness": "受凉后出现咳嗽、咽痛，无胸闷气促。",
            "physical_exam": "咽部充血，双扁桃体无肿大，双肺呼吸音清。",
            "advice": "多饮水，注意休息，不适随诊。",
        },
    ),
    "心血管": (
        "高血压复诊",
        {
            "chief_complaint": "头晕",
            "present_illness": "高血压病史，近期家庭自测血压偏高。",
            "physical_exam": "BP 150/95mmHg，心率 76次/分，律齐。",
            "advice": "低盐饮食，监测血压，1月后复诊。",
        },
    ),
}


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    del seed_value, scale
    record_service.add_template(session, department_id=None, name="通用门诊病历", content=GENERAL)
    count = 1
    for key, (name, content) in BY_SPECIALTY.items():
        departments, _ = registry.list_departments(session, q=key, limit=200)
        for d in departments:
            record_service.add_template(session, department_id=d.id, name=name, content=content)
            count += 1
    return f"outpatient: {count} record templates"
