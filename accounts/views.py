"""Municipal admins manage the users of their own municipality."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from core.forms import add_service_errors

from .forms import InviteForm, UserEditForm
from .models import User
from .permissions import require
from .services import user_invite, user_update


@require("users.manage")
def user_list(request):
    users = User.objects.order_by("email")
    return render(request, "accounts/user_list.html", {"users": users})


@require("users.manage")
def user_invite_view(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_invite(
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                roles=form.cleaned_data["roles"],
                base_url=f"{request.scheme}://{request.get_host()}",
                organisation=request.tenant.short_name,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Einladung an {user.email} wurde verschickt.")
            return redirect("users:list")
    return render(request, "accounts/user_invite.html", {"form": form})


@require("users.manage")
def user_edit(request, pk: int):
    user = get_object_or_404(User, pk=pk)
    form = UserEditForm(request.POST or None, initial={"roles": user.roles, "is_active": user.is_active})
    if request.method == "POST" and form.is_valid():
        try:
            user_update(
                user=user,
                roles=form.cleaned_data["roles"],
                active=form.cleaned_data["is_active"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Konto {user.email} wurde gespeichert.")
            return redirect("users:list")
    return render(request, "accounts/user_edit.html", {"form": form, "account": user})
