"""Callback profiles: list, create, edit, enable or disable, rotate the secret, delete."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from wagate.domain import errors
from wagate.domain.activity import placeholder_groups
from wagate.domain.callbacks import CallbackProfile, ProfileStatus
from wagate.portal.context import FormDep, Portal, PortalDep, SignedIn, SignedInDep
from wagate.portal.pages import NOTICES, PREFIX, notice, path_part, render, secured
from wagate.portal.profile_form import ProfileForm
from wagate.portal.routing import portal_router
from wagate.services.profiles import ProfileChanges

router = portal_router()
PROFILES = f"{PREFIX}/profiles"
#: The most profiles the list shows (an account has a handful; the API pages through more).
LIST_LIMIT = 100
RECENT_DELIVERIES = 10


def _to(path: str, notice_code: str) -> Response:
    return secured(RedirectResponse(f"{path}?notice={notice_code}", status_code=303))


def _profile_path(profile_id: str) -> str:
    return f"{PROFILES}/{path_part(profile_id)}"


async def _uses(portal: Portal, sid: str, profile_id: str) -> tuple[list[str], list[str]]:
    """The WABAs and the numbers whose callbacks go through the profile."""
    wabas, numbers = await portal.gateway.tenancy.wabas_and_numbers(sid)
    return (
        [w.waba_id for w in wabas if w.callback_profile_id == profile_id],
        [
            n.number
            for n in numbers
            if profile_id in (n.callback_profile_id, n.incoming_callback_profile_id)
        ],
    )


async def _form_page(
    request: Request,
    portal: Portal,
    signed_in: SignedIn,
    form: ProfileForm,
    *,
    profile: CallbackProfile | None,
    status: int = 200,
) -> Response:
    on_wabas: list[str] = []
    on_numbers: list[str] = []
    if profile is not None:
        on_wabas, on_numbers = await _uses(portal, signed_in.sid, profile.id)
    context = signed_in.page(
        "profiles",
        form=form,
        profile=profile,
        groups=placeholder_groups(on_wabas=bool(on_wabas), on_numbers=bool(on_numbers)),
    )
    return render(request, "profile_form.html", context, status=status)


@router.get(PROFILES)
async def list_profiles(request: Request, portal: PortalDep, signed_in: SignedInDep) -> Response:
    """The account's profiles, and where each WABA's and number's callbacks go."""
    return await profiles_page(request, portal, signed_in)


async def profiles_page(
    request: Request,
    portal: Portal,
    signed_in: SignedIn,
    *,
    problems: dict[str, str] | None = None,
    secret: tuple[str, str] | None = None,
    saved: bool = False,
    status: int = 200,
) -> Response:
    """The profiles page; ``problems`` by number, a number's signing ``secret`` once."""
    profiles, total = await portal.gateway.profiles.list(
        signed_in.sid, title=None, limit=LIST_LIMIT, offset=0
    )
    wabas, numbers = await portal.gateway.tenancy.wabas_and_numbers(signed_in.sid)
    context = signed_in.page(
        "profiles",
        profiles=profiles,
        total=total,
        titles={p.id: p.title for p in profiles},
        wabas=wabas,
        numbers=numbers,
        problems=problems or {},
        secret=secret,
        notice=NOTICES["attached"] if saved else notice(request),
    )
    return render(request, "profiles.html", context, status=status)


@router.get(f"{PROFILES}/new")
async def new_profile(request: Request, portal: PortalDep, signed_in: SignedInDep) -> Response:
    """The form of a new profile, with the placeholders its events may use."""
    return await _form_page(request, portal, signed_in, ProfileForm(), profile=None)


@router.post(f"{PROFILES}/validate")
async def validate_profile(form: FormDep, signed_in: SignedInDep) -> Response:
    """What is wrong with the profile form as typed so far (the page asks as you type)."""
    checked = ProfileForm.read(form).checked()
    return secured(JSONResponse({"problems": checked.problems}))


@router.post(PROFILES)
async def create_profile(
    request: Request, portal: PortalDep, signed_in: SignedInDep, form: FormDep
) -> Response:
    """Create the profile; its signing secret is shown once, on the page this answers."""
    typed = ProfileForm.read(form).checked()
    if typed.problems:
        return await _form_page(request, portal, signed_in, typed, profile=None, status=400)
    headers, _ = typed.headers()
    try:
        profile = await portal.gateway.profiles.create(
            signed_in.sid,
            title=typed.title,
            http_method=typed.http_method,
            url=typed.url,
            body=typed.body_or_none,
            headers=headers,
        )
    except errors.InvalidPayload as exc:
        problems = typed.with_problems(exc.details)
        return await _form_page(request, portal, signed_in, problems, profile=None, status=400)
    context = signed_in.page("profiles", profile=profile, secret=profile.secret, created=True)
    return render(request, "profile_secret.html", context, status=201)


@router.get(PROFILES + "/{profile_id}")
async def show_profile(
    profile_id: str, request: Request, portal: PortalDep, signed_in: SignedInDep
) -> Response:
    """A profile, where it is used, its latest deliveries, and the recover form."""
    profile = await portal.gateway.profiles.get(signed_in.sid, profile_id)
    on_wabas, on_numbers = await _uses(portal, signed_in.sid, profile.id)
    recent, total = await portal.gateway.deliveries.list(
        signed_in.sid,
        profile_id=profile.id,
        status=None,
        since=None,
        until=None,
        limit=RECENT_DELIVERIES,
        offset=0,
    )
    context = signed_in.page(
        "profiles",
        profile=profile,
        on_wabas=on_wabas,
        on_numbers=on_numbers,
        groups=placeholder_groups(on_wabas=bool(on_wabas), on_numbers=bool(on_numbers)),
        recent=recent,
        total_deliveries=total,
        notice=notice(request),
    )
    return render(request, "profile.html", context)


@router.get(PROFILES + "/{profile_id}/edit")
async def edit_profile(
    profile_id: str, request: Request, portal: PortalDep, signed_in: SignedInDep
) -> Response:
    """The form of an existing profile."""
    profile = await portal.gateway.profiles.get(signed_in.sid, profile_id)
    return await _form_page(request, portal, signed_in, ProfileForm.of(profile), profile=profile)


@router.post(PROFILES + "/{profile_id}")
async def update_profile(
    profile_id: str, request: Request, portal: PortalDep, signed_in: SignedInDep, form: FormDep
) -> Response:
    """Save an edit; deliveries still waiting are re-rendered with the new template."""
    profile = await portal.gateway.profiles.get(signed_in.sid, profile_id)
    typed = ProfileForm.read(form).checked()
    if typed.problems:
        return await _form_page(request, portal, signed_in, typed, profile=profile, status=400)
    headers, _ = typed.headers()
    changes = ProfileChanges(
        title=typed.title,
        http_method=typed.http_method,
        url=typed.url,
        body=typed.body,
        headers=headers,
    )
    try:
        await portal.gateway.profiles.update(signed_in.sid, profile.id, changes)
    except errors.InvalidPayload as exc:
        problems = typed.with_problems(exc.details)
        return await _form_page(request, portal, signed_in, problems, profile=profile, status=400)
    return _to(_profile_path(profile.id), "saved")


@router.post(PROFILES + "/{profile_id}/status")
async def set_status(
    profile_id: str, portal: PortalDep, signed_in: SignedInDep, form: FormDep
) -> Response:
    """Enable (``status=active``) or disable the profile."""
    enable = form.get("status") == "active"
    status = ProfileStatus.ACTIVE if enable else ProfileStatus.DISABLED
    await portal.gateway.profiles.update(signed_in.sid, profile_id, ProfileChanges(status=status))
    return _to(_profile_path(profile_id), "enabled" if enable else "disabled")


@router.post(PROFILES + "/{profile_id}/rotate")
async def rotate_secret(
    profile_id: str, request: Request, portal: PortalDep, signed_in: SignedInDep, form: FormDep
) -> Response:
    """A new signing secret, shown once; the old one also signs for a day."""
    profile = await portal.gateway.profiles.update(
        signed_in.sid, profile_id, ProfileChanges(rotate_secret=True)
    )
    context = signed_in.page("profiles", profile=profile, secret=profile.secret, created=False)
    return render(request, "profile_secret.html", context)


@router.get(PROFILES + "/{profile_id}/delete")
async def confirm_delete(
    profile_id: str, request: Request, portal: PortalDep, signed_in: SignedInDep
) -> Response:
    """Ask before deleting."""
    profile = await portal.gateway.profiles.get(signed_in.sid, profile_id)
    on_wabas, on_numbers = await _uses(portal, signed_in.sid, profile.id)
    context = signed_in.page("profiles", profile=profile, on_wabas=on_wabas, on_numbers=on_numbers)
    return render(request, "profile_delete.html", context)


@router.post(PROFILES + "/{profile_id}/delete")
async def delete_profile(
    profile_id: str, portal: PortalDep, signed_in: SignedInDep, form: FormDep
) -> Response:
    """Delete the profile: it is detached and its pending deliveries are cancelled."""
    await portal.gateway.profiles.delete(signed_in.sid, profile_id)
    return _to(PROFILES, "deleted")
