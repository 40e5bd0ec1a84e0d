"""IAM in the local cloud: roles with their trust policies, inline and managed policies, policy
attachments, and OIDC providers, exactly as the program wrote them (the strict STS evaluates
these documents, so nothing may be normalised or repaired on the way)."""

from __future__ import annotations

import json
from typing import Any

from pgiam.e2e.engine.aws_api import client_for, delete_quietly, exists, tag_list
from pgiam.e2e.engine.context import EngineContext
from pgiam.e2e.engine.resources import Created, CreateRequest, EngineError, handles
from pgiam.e2e.engine.state import ResourceEntry


def _document(value: Any, what: str, name: str) -> str:
    """Policy inputs arrive as JSON text (or, from some programs, as an object)."""
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, dict):
        return json.dumps(value)
    raise EngineError(f"{name!r}: {what} is required")


@handles("aws:iam/role:Role")
class Role:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        iam = ctx.client("iam")
        name = request.autoname(max_length=64)
        tags = ctx.tags_for(request.inputs, request.provider)
        params: dict[str, Any] = {
            "RoleName": name, "Path": request.inputs.get("path") or "/",
            "AssumeRolePolicyDocument": _document(request.inputs.get("assumeRolePolicy"),
                                                  "assumeRolePolicy", request.name),
            "MaxSessionDuration": int(request.inputs.get("maxSessionDuration") or 3600),
        }
        if request.inputs.get("description"):
            params["Description"] = request.inputs["description"]
        if request.inputs.get("permissionsBoundary"):
            params["PermissionsBoundary"] = request.inputs["permissionsBoundary"]
        if tags:
            params["Tags"] = tag_list(tags)
        role = iam.create_role(**params)["Role"]
        try:
            for policy in request.inputs.get("inlinePolicies") or []:
                iam.put_role_policy(RoleName=name, PolicyName=policy["name"],
                                    PolicyDocument=_document(policy.get("policy"), "policy",
                                                             request.name))
            for policy_arn in request.inputs.get("managedPolicyArns") or []:
                iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        except BaseException:
            self._delete(ctx, name)
            raise
        return Created(name, {
            "id": name, "name": name, "arn": role["Arn"], "uniqueId": role["RoleId"],
            "createDate": role["CreateDate"].isoformat(), "path": role.get("Path", "/"),
            "maxSessionDuration": params["MaxSessionDuration"], "tagsAll": tags,
        }, {})

    @staticmethod
    def _delete(ctx: EngineContext, name: str) -> None:
        iam = ctx.client("iam")
        # What the role still carries (inline policies from inlinePolicies, managed ones from
        # managedPolicyArns) goes first, as IAM refuses to delete a role that has any.
        delete_quietly(lambda: [iam.delete_role_policy(RoleName=name, PolicyName=policy)
                                for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]])
        delete_quietly(lambda: [iam.detach_role_policy(RoleName=name, PolicyArn=item["PolicyArn"])
                                for item in iam.list_attached_role_policies(RoleName=name)
                                ["AttachedPolicies"]])
        delete_quietly(lambda: iam.delete_role(RoleName=name))

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        self._delete(ctx, entry.id)

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: client_for(ctx, entry, "iam").get_role(RoleName=entry.id))


@handles("aws:iam/rolePolicy:RolePolicy")
class RolePolicy:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        role = request.inputs.get("role")
        if not role:
            raise EngineError(f"RolePolicy {request.name!r}: role is required")
        name = request.autoname(max_length=128)
        ctx.client("iam").put_role_policy(
            RoleName=role, PolicyName=name,
            PolicyDocument=_document(request.inputs.get("policy"), "policy", request.name))
        policy_id = f"{role}:{name}"
        return Created(policy_id, {"id": policy_id, "name": name, "role": role},
                       {"role": role, "policyName": name})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        delete_quietly(lambda: ctx.client("iam").delete_role_policy(
            RoleName=entry.data["role"], PolicyName=entry.data["policyName"]))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: ctx.client("iam").get_role_policy(
            RoleName=entry.data["role"], PolicyName=entry.data["policyName"]))


@handles("aws:iam/policy:Policy")
class Policy:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        name = request.autoname(max_length=128)
        tags = ctx.tags_for(request.inputs, request.provider)
        params: dict[str, Any] = {
            "PolicyName": name, "Path": request.inputs.get("path") or "/",
            "PolicyDocument": _document(request.inputs.get("policy"), "policy", request.name)}
        if request.inputs.get("description"):
            params["Description"] = request.inputs["description"]
        if tags:
            params["Tags"] = tag_list(tags)
        policy = ctx.client("iam").create_policy(**params)["Policy"]
        return Created(policy["Arn"], {"id": policy["Arn"], "arn": policy["Arn"], "name": name,
                                       "policyId": policy["PolicyId"], "tagsAll": tags}, {})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        iam = ctx.client("iam")
        delete_quietly(lambda: [iam.delete_policy_version(PolicyArn=entry.id,
                                                          VersionId=v["VersionId"])
                                for v in iam.list_policy_versions(PolicyArn=entry.id)["Versions"]
                                if not v["IsDefaultVersion"]])
        delete_quietly(lambda: iam.delete_policy(PolicyArn=entry.id))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: ctx.client("iam").get_policy(PolicyArn=entry.id))


@handles("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
class RolePolicyAttachment:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        role, policy_arn = request.inputs.get("role"), request.inputs.get("policyArn")
        if not role or not policy_arn:
            raise EngineError(f"RolePolicyAttachment {request.name!r}: role and policyArn are "
                              "required")
        ctx.client("iam").attach_role_policy(RoleName=role, PolicyArn=policy_arn)
        attachment_id = f"{role}/{policy_arn}"
        return Created(attachment_id, {"id": attachment_id},
                       {"role": role, "policyArn": policy_arn})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        delete_quietly(lambda: ctx.client("iam").detach_role_policy(
            RoleName=entry.data["role"], PolicyArn=entry.data["policyArn"]))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(
            lambda: ctx.client("iam").list_attached_role_policies(
                RoleName=entry.data["role"])["AttachedPolicies"],
            lambda attached: any(a["PolicyArn"] == entry.data["policyArn"] for a in attached))


@handles("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
class OpenIdConnectProvider:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        tags = ctx.tags_for(request.inputs, request.provider)
        params: dict[str, Any] = {"Url": request.inputs["url"],
                                  "ClientIDList": list(request.inputs.get("clientIdLists") or [])}
        if request.inputs.get("thumbprintLists"):
            params["ThumbprintList"] = list(request.inputs["thumbprintLists"])
        if tags:
            params["Tags"] = tag_list(tags)
        provider_arn = ctx.client("iam").create_open_id_connect_provider(
            **params)["OpenIDConnectProviderArn"]
        return Created(provider_arn, {"id": provider_arn, "arn": provider_arn, "tagsAll": tags},
                       {})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        delete_quietly(lambda: ctx.client("iam").delete_open_id_connect_provider(
            OpenIDConnectProviderArn=entry.id))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: ctx.client("iam").get_open_id_connect_provider(
            OpenIDConnectProviderArn=entry.id))
