from django.urls import path

from strongroom.edge.workergate import views

urlpatterns = [
    path("internal/worker/enroll", views.enroll),
    path("internal/worker/claim", views.claim),
    path("internal/worker/leases/<str:lease_id>/heartbeat", views.heartbeat),
    path("internal/worker/leases/<str:lease_id>/complete", views.complete),
    path("internal/worker/leases/<str:lease_id>/fail", views.fail),
]
