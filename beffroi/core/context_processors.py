def commune(request):
    return {"commune": getattr(request, "commune", None)}
