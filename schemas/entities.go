package schemas

import "time"

// The contract's entities (platform-api.md v1), one type each. Tags:
//   json: the field's name on the wire;
//   hl:   key (part of the entity key), fmt=NAME (an identifier format of
//         Formats), enum=a|b|c, object or array (a JSON value kept verbatim).
// Non-key fields are pointers: the contract lets any of them be null until the
// process step that sets it has happened.

// Version is what every record carries besides its own fields.
type Version struct {
	UpdatedAt time.Time `json:"updated_at"`
	Deleted   bool      `json:"deleted,omitempty"`
	// Extra holds fields the contract does not name, as a JSON object; they
	// are kept, never dropped. Empty when there are none.
	Extra RawJSON `json:"-"`
}

// Department is a node of the customs department tree.
type Department struct {
	DeptID      string  `json:"dept_id" hl:"key,fmt=id"`
	Name        *string `json:"name"`
	Level       *string `json:"level" hl:"enum=headquarters|direct_customs|subordinate_customs|section"`
	ParentID    *string `json:"parent_id" hl:"fmt=id"`
	CustomsCode *string `json:"customs_code" hl:"fmt=customs_code"`
	Function    *string `json:"function" hl:"enum=clearance|tariff|inspection|processing_trade|logistics|anti_smuggling|audit|supervision|general"`
	ValidFrom   *Date   `json:"valid_from"`
	ValidTo     *Date   `json:"valid_to"`
	Version
}

// Officer is a customs officer; a transfer is a new version of the same key.
type Officer struct {
	OfficerID string  `json:"officer_id" hl:"key,fmt=officer_id"`
	Name      *string `json:"name"`
	DeptID    *string `json:"dept_id" hl:"fmt=id"`
	Post      *string `json:"post" hl:"enum=declaration_review|tariff_review|inspection|release|processing_trade|logistics|anti_smuggling|audit|refund|guarantee|section_chief|customs_head|supervision"`
	PostSince *Date   `json:"post_since"`
	IsLeader  *bool   `json:"is_leader"`
	Status    *string `json:"status" hl:"enum=active|transferred|retired"`
	Version
}

// DutyRoster is an officer's shift on one day.
type DutyRoster struct {
	OfficerID  string     `json:"officer_id" hl:"key,fmt=officer_id"`
	DutyDate   Date       `json:"duty_date" hl:"key"`
	ShiftStart *time.Time `json:"shift_start"`
	ShiftEnd   *time.Time `json:"shift_end"`
	Version
}

// Enterprise is a consignee, a broker or both.
type Enterprise struct {
	EntCode           string  `json:"ent_code" hl:"key,fmt=ent_code"`
	USCC              *string `json:"uscc" hl:"fmt=uscc"`
	Name              *string `json:"name"`
	Kind              *string `json:"kind" hl:"enum=consignee|broker|both"`
	CreditClass       *string `json:"credit_class" hl:"enum=advanced_certified|general|dishonest"`
	RegisteredCustoms *string `json:"registered_customs" hl:"fmt=customs_code"`
	Version
}

// InterestDeclaration is an officer's declared tie to an enterprise (领导干部报告个人有关事项).
type InterestDeclaration struct {
	OfficerID  string  `json:"officer_id" hl:"key,fmt=officer_id"`
	EntCode    string  `json:"ent_code" hl:"key,fmt=ent_code"`
	Relation   *string `json:"relation" hl:"enum=spouse|child|parent|sibling|other"`
	DeclaredOn *Date   `json:"declared_on"`
	Version
}

// Declaration is a customs declaration (报关单).
type Declaration struct {
	DeclNo                   string     `json:"decl_no" hl:"key,fmt=decl_no"`
	CustomsCode              *string    `json:"customs_code" hl:"fmt=customs_code"`
	IEFlag                   *string    `json:"ie_flag" hl:"enum=I|E"`
	TradeMode                *string    `json:"trade_mode" hl:"fmt=trade_mode"`
	ConsigneeCode            *string    `json:"consignee_code" hl:"fmt=ent_code"`
	DeclarantCode            *string    `json:"declarant_code" hl:"fmt=ent_code"`
	ManualNo                 *string    `json:"manual_no" hl:"fmt=manual_no"`
	ArrivalDate              *Date      `json:"arrival_date"`
	DeclaredAt               *time.Time `json:"declared_at"`
	CustomsValue             *Money     `json:"customs_value"`
	DutyPayable              *Money     `json:"duty_payable"`
	VATPayable               *Money     `json:"vat_payable"`
	LateDeclarationFeeLevied *Money     `json:"late_declaration_fee_levied"`
	FeeExemptionCode         *string    `json:"fee_exemption_code" hl:"fmt=id"`
	AggregatedTax            *bool      `json:"aggregated_tax"`
	GuaranteeNo              *string    `json:"guarantee_no" hl:"fmt=id"`
	Status                   *string    `json:"status" hl:"enum=accepted|under_review|inspection|released|cancelled|returned"`
	ReleasedAt               *time.Time `json:"released_at"`
	Version
}

// DeclarationItem is one goods line of a declaration.
type DeclarationItem struct {
	DeclNo         string   `json:"decl_no" hl:"key,fmt=decl_no"`
	ItemNo         int32    `json:"item_no" hl:"key"`
	HSCode         *string  `json:"hs_code" hl:"fmt=hs_code"`
	GoodsName      *string  `json:"goods_name"`
	OriginCountry  *string  `json:"origin_country" hl:"fmt=id"`
	Qty            *Decimal `json:"qty"`
	Unit           *string  `json:"unit"`
	UnitPrice      *Decimal `json:"unit_price"`
	Currency       *string  `json:"currency"`
	CustomsValue   *Money   `json:"customs_value"`
	DutyRate       *Decimal `json:"duty_rate"`
	ReferencePrice *Decimal `json:"reference_price"`
	Version
}

// DeclarationEvent is one step of a declaration's processing.
type DeclarationEvent struct {
	EventID    string     `json:"event_id" hl:"key,fmt=id"`
	DeclNo     *string    `json:"decl_no" hl:"fmt=decl_no"`
	Step       *string    `json:"step" hl:"enum=accept|auto_review|manual_review|tariff_review|price_challenge|control_hit|inspection_assigned|inspection|release|modify_request|modify_decision|cancel_request|cancel_decision|return|reassign|fee_waiver"`
	OfficerID  *string    `json:"officer_id" hl:"fmt=officer_id"`
	DeptID     *string    `json:"dept_id" hl:"fmt=id"`
	OccurredAt *time.Time `json:"occurred_at"`
	Outcome    *string    `json:"outcome"`
	Detail     *RawJSON   `json:"detail" hl:"object"`
	Version
}

// ControlOrder is a control instruction (布控指令) on a declaration.
type ControlOrder struct {
	OrderID      string     `json:"order_id" hl:"key,fmt=id"`
	DeclNo       *string    `json:"decl_no" hl:"fmt=decl_no"`
	IssuedAt     *time.Time `json:"issued_at"`
	Source       *string    `json:"source" hl:"enum=system|manual"`
	Action       *string    `json:"action" hl:"enum=inspect|document_check"`
	Status       *string    `json:"status" hl:"enum=active|executed|cancelled"`
	CancelledBy  *string    `json:"cancelled_by" hl:"fmt=officer_id"`
	CancelledAt  *time.Time `json:"cancelled_at"`
	CancelReason *string    `json:"cancel_reason"`
	Version
}

// Inspection is a physical inspection (查验).
type Inspection struct {
	InspectionID  string     `json:"inspection_id" hl:"key,fmt=id"`
	DeclNo        *string    `json:"decl_no" hl:"fmt=decl_no"`
	OrderID       *string    `json:"order_id" hl:"fmt=id"`
	AssignedAt    *time.Time `json:"assigned_at"`
	StartedAt     *time.Time `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at"`
	Location      *string    `json:"location" hl:"enum=control_area|outside"`
	TraderRequest *bool      `json:"trader_request"`
	Officers      *RawJSON   `json:"officers" hl:"array,fmt=officer_id"`
	RecordSigned  *bool      `json:"record_signed"`
	Result        *string    `json:"result" hl:"enum=match|mismatch"`
	Finding       *string    `json:"finding"`
	Version
}

// ModificationRequest asks to modify or cancel a declaration (修改/撤销).
type ModificationRequest struct {
	RequestID         string     `json:"request_id" hl:"key,fmt=id"`
	DeclNo            *string    `json:"decl_no" hl:"fmt=decl_no"`
	Kind              *string    `json:"kind" hl:"enum=modify|cancel"`
	InitiatedBy       *string    `json:"initiated_by" hl:"enum=trader|customs"`
	GroundCode        *string    `json:"ground_code" hl:"fmt=id"`
	RequestedAt       *time.Time `json:"requested_at"`
	DecidedAt         *time.Time `json:"decided_at"`
	Decision          *string    `json:"decision" hl:"enum=approved|rejected"`
	ExtensionApproved *bool      `json:"extension_approved"`
	OfficerID         *string    `json:"officer_id" hl:"fmt=officer_id"`
	Changes           *RawJSON   `json:"changes" hl:"array"`
	TaxDelta          *Money     `json:"tax_delta"`
	Version
}

// TaxVoucher is a tax payment voucher (税款缴款书).
type TaxVoucher struct {
	VoucherNo           string  `json:"voucher_no" hl:"key,fmt=voucher_no"`
	DeclNo              *string `json:"decl_no" hl:"fmt=decl_no"`
	TaxType             *string `json:"tax_type" hl:"enum=duty|vat|consumption|late_payment_surcharge|late_declaration_fee"`
	TaxpayerUSCC        *string `json:"taxpayer_uscc" hl:"fmt=uscc"`
	Amount              *Money  `json:"amount"`
	IssuedOn            *Date   `json:"issued_on"`
	PaidOn              *Date   `json:"paid_on"`
	SurchargeLevied     *Money  `json:"surcharge_levied"`
	WaiverReason        *string `json:"waiver_reason"`
	WaivedBy            *string `json:"waived_by" hl:"fmt=officer_id"`
	DeferredUntil       *Date   `json:"deferred_until"`
	DeferralGuaranteeNo *string `json:"deferral_guarantee_no" hl:"fmt=id"`
	EnforcementOn       *Date   `json:"enforcement_on"`
	Status              *string `json:"status" hl:"enum=issued|paid|written_off"`
	Version
}

// VoucherCheck is a voucher cross-check submission relayed from the tax authority.
type VoucherCheck struct {
	CheckID      string  `json:"check_id" hl:"key,fmt=id"`
	VoucherNo    *string `json:"voucher_no" hl:"fmt=voucher_no"`
	TaxpayerUSCC *string `json:"taxpayer_uscc" hl:"fmt=uscc"`
	IssuedOn     *Date   `json:"issued_on"`
	Amount       *Money  `json:"amount"`
	TaxPeriod    *string `json:"tax_period" hl:"fmt=month"`
	SubmittedOn  *Date   `json:"submitted_on"`
	Version
}

// VoucherInquiry is the tax authority's verification request (委托核查函).
type VoucherInquiry struct {
	InquiryID  string  `json:"inquiry_id" hl:"key,fmt=id"`
	VoucherNo  *string `json:"voucher_no" hl:"fmt=voucher_no"`
	ReceivedOn *Date   `json:"received_on"`
	AnsweredOn *Date   `json:"answered_on"`
	OfficerID  *string `json:"officer_id" hl:"fmt=officer_id"`
	Version
}

// Refund is a tax refund application (退税).
type Refund struct {
	RefundID       string  `json:"refund_id" hl:"key,fmt=id"`
	DeclNo         *string `json:"decl_no" hl:"fmt=decl_no"`
	AcceptedOn     *Date   `json:"accepted_on"`
	DecidedOn      *Date   `json:"decided_on"`
	Amount         *Money  `json:"amount"`
	TaxPaid        *Money  `json:"tax_paid"`
	OriginalPaidOn *Date   `json:"original_paid_on"`
	OfficerID      *string `json:"officer_id" hl:"fmt=officer_id"`
	Version
}

// Manual is a processing-trade manual (加工贸易手册).
type Manual struct {
	ManualNo                string  `json:"manual_no" hl:"key,fmt=manual_no"`
	EntCode                 *string `json:"ent_code" hl:"fmt=ent_code"`
	CustomsCode             *string `json:"customs_code" hl:"fmt=customs_code"`
	ValidUntil              *Date   `json:"valid_until"`
	LastExportOn            *Date   `json:"last_export_on"`
	TerminatedOn            *Date   `json:"terminated_on"`
	CloseoutFiledOn         *Date   `json:"closeout_filed_on"`
	CloseoutAcceptedOn      *Date   `json:"closeout_accepted_on"`
	ClosedOn                *Date   `json:"closed_on"`
	ExtensionApproved       *bool   `json:"extension_approved"`
	UnexplainedBalanceValue *Money  `json:"unexplained_balance_value"`
	OfficerID               *string `json:"officer_id" hl:"fmt=officer_id"`
	Version
}

// TemporaryAdmission is goods admitted temporarily, due for re-export.
type TemporaryAdmission struct {
	TANo          string  `json:"ta_no" hl:"key,fmt=id"`
	DeclNo        *string `json:"decl_no" hl:"fmt=decl_no"`
	EntCode       *string `json:"ent_code" hl:"fmt=ent_code"`
	AdmittedOn    *Date   `json:"admitted_on"`
	DueOn         *Date   `json:"due_on"`
	Extensions    *int32  `json:"extensions"`
	ExtendedUntil *Date   `json:"extended_until"`
	ApprovalLevel *string `json:"approval_level" hl:"enum=customs|gac"`
	ClosedOn      *Date   `json:"closed_on"`
	OfficerID     *string `json:"officer_id" hl:"fmt=officer_id"`
	Version
}

// Transit is a transit movement (转关).
type Transit struct {
	TransitNo          string     `json:"transit_no" hl:"key,fmt=id"`
	DeclNo             *string    `json:"decl_no" hl:"fmt=decl_no"`
	Mode               *string    `json:"mode" hl:"enum=direct|early_declaration|export"`
	DepartureCustoms   *string    `json:"departure_customs" hl:"fmt=customs_code"`
	DestinationCustoms *string    `json:"destination_customs" hl:"fmt=customs_code"`
	FiledAt            *time.Time `json:"filed_at"`
	ArrivalLimit       *Date      `json:"arrival_limit"`
	ArrivedAt          *time.Time `json:"arrived_at"`
	ClosedAt           *time.Time `json:"closed_at"`
	CancelledAt        *time.Time `json:"cancelled_at"`
	OfficerID          *string    `json:"officer_id" hl:"fmt=officer_id"`
	Version
}

// Guarantee is a guarantee (担保) lodged for a declaration.
type Guarantee struct {
	GuaranteeNo    string     `json:"guarantee_no" hl:"key,fmt=id"`
	DeclNo         *string    `json:"decl_no" hl:"fmt=decl_no"`
	Kind           *string    `json:"kind" hl:"enum=single|general"`
	Amount         *Money     `json:"amount"`
	AppliedAt      *time.Time `json:"applied_at"`
	AcceptedAt     *time.Time `json:"accepted_at"`
	ObligationMet  *Date      `json:"obligation_met_on"`
	ReturnNoticeOn *Date      `json:"return_notice_on"`
	CollectedOn    *Date      `json:"collected_on"`
	PublicNoticeOn *Date      `json:"public_notice_on"`
	ConfiscatedOn  *Date      `json:"confiscated_on"`
	LicenceMissing *bool      `json:"licence_missing"`
	OfficerID      *string    `json:"officer_id" hl:"fmt=officer_id"`
	Version
}

// Licence is an administrative licence or exemption confirmation application.
type Licence struct {
	AppID             string  `json:"app_id" hl:"key,fmt=id"`
	Kind              *string `json:"kind" hl:"enum=licence|exemption"`
	EntCode           *string `json:"ent_code" hl:"fmt=ent_code"`
	AcceptedOn        *Date   `json:"accepted_on"`
	DecidedOn         *Date   `json:"decided_on"`
	ExtensionApproved *bool   `json:"extension_approved"`
	OfficerID         *string `json:"officer_id" hl:"fmt=officer_id"`
	Version
}

// Case is an anti-smuggling or violation case (缉私/违规案件).
type Case struct {
	CaseNo                string  `json:"case_no" hl:"key,fmt=id"`
	Kind                  *string `json:"kind" hl:"enum=smuggling|violation"`
	EntCode               *string `json:"ent_code" hl:"fmt=ent_code"`
	DeclNo                *string `json:"decl_no" hl:"fmt=decl_no"`
	FiledOn               *Date   `json:"filed_on"`
	DecidedOn             *Date   `json:"decided_on"`
	EvadedTax             *Money  `json:"evaded_tax"`
	Fine                  *Money  `json:"fine"`
	Decision              *string `json:"decision" hl:"enum=penalty|no_penalty|transferred|pending"`
	GoodsHeldSince        *Date   `json:"goods_held_since"`
	HoldExtensionApproved *bool   `json:"hold_extension_approved"`
	OfficerID             *string `json:"officer_id" hl:"fmt=officer_id"`
	Version
}

// Audit is a post-clearance audit (稽查).
type Audit struct {
	AuditID     string  `json:"audit_id" hl:"key,fmt=id"`
	EntCode     *string `json:"ent_code" hl:"fmt=ent_code"`
	DeclNo      *string `json:"decl_no" hl:"fmt=decl_no"`
	ReportOn    *Date   `json:"report_on"`
	ConcludedOn *Date   `json:"concluded_on"`
	Finding     *string `json:"finding" hl:"enum=none|discrepancy"`
	OfficerID   *string `json:"officer_id" hl:"fmt=officer_id"`
	Version
}

// Lead is integrity-risk information about an officer (廉政风险信息).
type Lead struct {
	LeadID     string  `json:"lead_id" hl:"key,fmt=id"`
	OfficerID  *string `json:"officer_id" hl:"fmt=officer_id"`
	Source     *string `json:"source" hl:"enum=petition|audit|inspection|self_report|other"`
	ReceivedOn *Date   `json:"received_on"`
	Category   *string `json:"category"`
	Verified   *string `json:"verified" hl:"enum=pending|confirmed|partly|unfounded"`
	Version
}

// Disposal is the integrity office's action on one of our warnings (处置反馈).
type Disposal struct {
	DisposalID string     `json:"disposal_id" hl:"key,fmt=id"`
	WarningID  *string    `json:"warning_id" hl:"fmt=id"`
	Action     *string    `json:"action" hl:"enum=verify|explain|reminder_talk|admonishment_talk|letter_inquiry|rectification|post_adjustment|case_referral|close"`
	ActorID    *string    `json:"actor_id" hl:"fmt=officer_id"`
	ActedAt    *time.Time `json:"acted_at"`
	Finding    *string    `json:"finding" hl:"enum=confirmed|partly|unfounded"`
	Note       *string    `json:"note"`
	Version
}
