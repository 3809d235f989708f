"""Pages of the enrolment app, one module per area; each module defines its own `urlpatterns`."""
