from django.contrib import admin
from django.utils.translation import gettext_lazy as _

# The admin is the staff roles' workbench until the portal has its own pages; it carries the portal's name.
admin.site.site_header = _("开封市专业技术人员继续教育管理平台 · 管理后台")
admin.site.site_title = _("继续教育管理平台")
admin.site.index_title = _("业务管理")
