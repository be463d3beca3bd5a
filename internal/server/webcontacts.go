package server

import (
	"context"

	"congvu/web/danhba"
	webmail "congvu/web/mail"
)

// webContacts gives the webmail the danh bạ's suggestions and names.
type webContacts struct{ d *danhba.Directory }

var _ webmail.Contacts = webContacts{}

func (c webContacts) Suggest(ctx context.Context, q string, limit int) ([]webmail.Contact, error) {
	list, err := c.d.Suggest(ctx, q, limit)
	out := make([]webmail.Contact, len(list))
	for i, s := range list {
		out[i] = webmail.Contact{Name: s.Name, Address: s.Address, Unit: s.Unit, IsUnit: s.IsUnit}
	}
	return out, err
}

func (c webContacts) Name(ctx context.Context, address string) string { return c.d.Name(ctx, address) }
