"""Error pages that say what happened and nothing about the server."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    if _wants_json(request):
        from django.http import JsonResponse

        return JsonResponse({"detail": message}, status=status)
    return render(request, "error.html", {"status": status, "title": title, "message": message}, status=status)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, "Not allowed", "Your roles do not allow this page or action.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "Not found", "There is nothing here, or nothing you may see.")


def server_error(request: HttpRequest) -> HttpResponse:
    # No template context processors here: the failure may be in one of them.
    from django.template import loader

    html = loader.get_template("500.html").render()
    return HttpResponse(html, status=500)
