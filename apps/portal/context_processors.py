from django.conf import settings


def portal(request) -> dict:
    return {"PORTAL_NAME": "开封市专业技术人员继续教育管理平台", "PORTAL_CITY_CODE": settings.PORTAL_CITY_CODE}
