"""Denial reasons: stable codes and messages the person at the counter understands.

Every message is a fixed template in Chinese and English, filled only with purpose
and field *names* and numbers, never with a PI value, so it is safe to show, log
and put in an HTTP response.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal


@dataclass(frozen=True, slots=True)
class Allowed:
    allowed: Literal[True] = True
    reason: str = "ok"


@dataclass(frozen=True, slots=True)
class Denied:
    reason: str
    message_zh: str
    message_en: str
    allowed: Literal[False] = False

    @property
    def message(self) -> str:
        return f"{self.message_zh} / {self.message_en}"


Decision = Allowed | Denied

PURPOSE_NAMES: Final[Mapping[str, tuple[str, str]]] = {
    "pickup": ("揽收", "pickup"), "sorting": ("分拣", "sorting"),
    "delivery": ("派送", "delivery"), "customer_service": ("客服", "customer service"),
    "complaint_handling": ("投诉处理", "complaint handling"),
    "law_enforcement": ("执法协查", "law enforcement"), "audit": ("审计", "audit"),
    "security": ("安全调查", "security"), "other": ("其他", "other")}

# code -> (zh, en); {p}/{p_en}: purpose, {n}: a number, {f}: field names.
REASONS: Final[Mapping[str, tuple[str, str]]] = {
    "no_permission": ("你的账号没有这项操作的权限",
                      "Your account is not allowed to do this"),
    "no_employee": ("你的账号没有关联在职员工档案，不能查看客户信息",
                    "Your account is not linked to an employee record, so it cannot see "
                    "customer information"),
    "employee_left": ("你已离职，不能再查看客户信息",
                      "You have left the company and can no longer see customer information"),
    "background_check_pending": ("你的背景审查还没有通过，暂时不能查看客户信息",
                                 "Your background check has not been passed yet, so you "
                                 "cannot see customer information"),
    "background_check_failed": ("你的背景审查未通过，不能查看客户信息",
                                "Your background check was not passed, so you cannot see "
                                "customer information"),
    "suspended": ("你的个人信息访问权限已被暂停，请联系安全管理员",
                  "Your access to personal information is suspended; contact your security "
                  "officer"),
    "unknown_purpose": ("用途不正确", "That purpose is not recognised"),
    "unknown_field": ("要查看的信息项不正确", "That information field is not recognised"),
    "no_fields": ("请选择要查看的信息项", "Choose which details you need"),
    "role_masked_only": ("你的岗位只能看隐私面单上的脱敏信息",
                         "Your role sees only the masked waybill, never full customer details"),
    "role_purpose": ("你的岗位不能为了{p}使用客户信息",
                     "Your role may not use customer information for {p_en}"),
    "field_not_allowed": ("{p}时不能查看这些信息：{f}",
                          "For {p_en} you may not see: {f}"),
    "id_number_pickup_only": ("寄件人身份证号只在揽收实名核验时可见",
                              "The sender's ID number is shown only for identity "
                              "verification at pickup"),
    "parcel_not_found": ("找不到这个运单", "No such waybill"),
    "no_assignment": ("这件快递不在你的{p}任务中",
                      "This parcel is not assigned to you for {p_en}"),
    "other_purpose": ("你负责这件快递，但不是{p}任务",
                      "You are assigned to this parcel, but not for {p_en}"),
    "assignment_not_started": ("你的{p}任务还没有开始",
                               "Your {p_en} assignment has not started yet"),
    "assignment_expired": ("你的{p}任务已经结束",
                           "Your {p_en} assignment for this parcel has ended"),
    "assignment_revoked": ("你的{p}任务已被撤销",
                           "Your {p_en} assignment for this parcel was withdrawn"),
    "parcel_finished": ("这件快递已签收或已结单，{p}不再需要客户信息",
                        "This parcel was already delivered or closed; {p_en} no longer "
                        "needs the customer's information"),
    "subject_erased": ("这位客户的个人信息已按其要求删除",
                       "This person's information was deleted at their request"),
    "subject_restricted": ("这位客户申请删除个人信息，处理完成前只能用于派送",
                           "This person asked for their information to be deleted; until that "
                           "is done it may be used only for delivery"),
    "no_consent": ("这位客户没有同意这项用途", "The person has not agreed to this use"),
    "no_legal_basis": ("这项用途需要客户同意，但没有可用的同意",
                       "This use needs the person's consent and there is none to rely on"),
    "search_role": ("你的岗位不能按手机号查询", "Your role may not search by phone number"),
    "search_purpose": ("你的岗位不能为了{p}按手机号查询",
                       "Your role may not search by phone number for {p_en}"),
    "search_needs_station": ("按尾号查询只能查本网点的快递，你没有所属网点",
                             "A last-four-digits search covers your own station's parcels "
                             "and you have no station"),
    "invalid_query": ("查询的号码不正确", "That is not a phone number that can be searched"),
    "export_role": ("你的岗位不能为了{p}导出客户信息",
                    "Your role may not export customer information for {p_en}"),
    "export_too_large": ("一次导出不能超过{n}条", "One export may not exceed {n} records"),
    "export_needs_approval": ("超过{n}条的导出需要另一位有审批权限的人批准",
                              "Exports of more than {n} records need approval by a second "
                              "person with approval rights"),
    "export_not_found": ("找不到这个导出申请", "No such export request"),
    "export_not_yours": ("这不是你的导出申请", "This export request is not yours"),
    "export_expired": ("导出批准已过期，请重新申请",
                       "The export approval has expired; request it again"),
    "export_done": ("这个导出已经执行过", "This export has already been run"),
    "export_rejected": ("这个导出申请已被拒绝", "This export request was rejected"),
    "export_scope_changed": ("导出范围的记录数超过了批准的{n}条，请重新申请",
                             "The export now covers more than the {n} records approved; "
                             "request it again"),
    "self_approval": ("不能批准自己的导出申请", "You cannot approve your own export request"),
    "not_pending": ("这个导出申请不在待审批状态", "This export request is not awaiting approval"),
    "approver_not_allowed": ("你现在不能审批导出", "You may not approve exports at present"),
    "break_glass_role": ("你的岗位不能使用紧急访问", "Your role may not use emergency access"),
    "justification_missing": ("紧急访问必须写明理由，至少{n}个字",
                              "Emergency access needs a written justification of at least "
                              "{n} characters"),
    "justification_too_long": ("理由太长，最多{n}个字", "The justification is too long (at most "
                                                    "{n} characters)"),
    "justification_pi": ("理由里不能写手机号、身份证号等个人信息",
                         "The justification must not contain phone numbers, ID numbers or "
                         "other personal information"),
    "partner_unknown": ("这个合作方没有登记或已停用",
                        "This partner is not registered or no longer active"),
    "partner_no_basis": ("没有覆盖这些信息的委托处理合同",
                         "No processing contract with this partner covers this information"),
    "partner_not_assessed": ("向该合作方提供这些信息前未做个人信息保护影响评估",
                             "No personal-information impact assessment covers giving this "
                             "information to this partner"),
}


def deny(code: str, *, purpose: str | None = None, n: int | None = None,
         fields: frozenset[str] | None = None) -> Denied:
    zh, en = REASONS[code]
    p_zh, p_en = PURPOSE_NAMES.get(purpose or "", ("", ""))
    f = ", ".join(sorted(fields or ()))
    return Denied(code, zh.format(p=p_zh, p_en=p_en, n=n, f=f),
                  en.format(p=p_zh, p_en=p_en, n=n, f=f))
