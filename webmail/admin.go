package webmail

import (
	"net/http"

	"congvu/directory"
)

// isAdmin tells whether a reaches the admin pages.
func isAdmin(a *directory.Account) bool {
	return a.Role == directory.RoleAdmin || a.Role == directory.RoleOperator
}

// adminRoutes registers the admin pages.
func (wb *Web) adminRoutes(m *http.ServeMux) {}

// adminTemplates are the admin page templates (content blocks).
func adminTemplates() map[string]string { return map[string]string{} }
