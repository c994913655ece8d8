"""`/healthz/`: django-health-check's view, answering 503 (not 500) when a service is down, so
a load balancer or compose sees "unavailable", and an error log is not raised for it."""

from health_check.views import HealthCheckView


class HealthView(HealthCheckView):
    async def dispatch(self, request, *args, **kwargs):
        response = await super().dispatch(request, *args, **kwargs)
        if response.status_code == 500:
            response.status_code = 503
        return response
