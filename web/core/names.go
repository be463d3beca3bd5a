package core

import (
	"time"

	"congvu/directory"
)

// RoleName is the Vietnamese name of a role.
func RoleName(r directory.Role) string {
	switch r {
	case directory.RoleOfficial:
		return "Cán bộ, công chức"
	case directory.RoleClerk:
		return "Văn thư"
	case directory.RoleAdmin:
		return "Quản trị đơn vị"
	case directory.RoleOperator:
		return "Quản trị hệ thống"
	case directory.RoleUnit:
		return "Hộp thư đơn vị"
	}
	return string(r)
}

// StateName is the Vietnamese name of a state.
func StateName(s directory.State) string {
	switch s {
	case directory.StateActive:
		return "Đang hoạt động"
	case directory.StateLocked:
		return "Đang khoá"
	case directory.StateRetired:
		return "Đã đóng"
	}
	return string(s)
}

// FormatTime shows a time in Viet Nam, or a dash when unknown.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(Vietnam()).Format("02/01/2006 15:04")
}

// Vietnam returns Asia/Ho_Chi_Minh. Viet Nam has kept UTC+7 without
// daylight saving since 1975, so a fixed zone is exact and needs no tzdata.
func Vietnam() *time.Location { return time.FixedZone("ICT", 7*60*60) }
