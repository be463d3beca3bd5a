package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Limits that keep a hostile spreadsheet (a zip bomb) from exhausting
// memory: a province of ~150k officials is far below them.
const (
	maxXLSXBytes     = 20 << 20
	maxXLSXUnzipped  = 200 << 20
	maxXLSXSheetRows = 500_000
)

// ReadXLSX reads officials from the first sheet of an Excel workbook, with
// the same header row and columns as ReadCSV; line numbers are sheet rows.
func ReadXLSX(r io.Reader) ([]Row, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxXLSXBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxXLSXBytes {
		return nil, fmt.Errorf("tệp Excel quá lớn (tối đa %d MiB) / workbook larger than %d MiB", maxXLSXBytes>>20, maxXLSXBytes>>20)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		UnzipSizeLimit:    maxXLSXUnzipped,
		UnzipXMLSizeLimit: maxXLSXUnzipped / 2,
	})
	if err != nil {
		return nil, fmt.Errorf("không đọc được tệp Excel / unreadable workbook: %w", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, errors.New("tệp Excel không có trang tính / workbook has no sheet")
	}
	it, err := f.Rows(sheets[0])
	if err != nil {
		return nil, err
	}
	defer it.Close()
	line := 0
	next := func() ([]string, int, error) {
		if !it.Next() {
			if err := it.Error(); err != nil {
				return nil, 0, err
			}
			return nil, 0, io.EOF
		}
		line++
		if line > maxXLSXSheetRows {
			return nil, 0, fmt.Errorf("trang tính quá %d dòng / sheet has more than %d rows", maxXLSXSheetRows, maxXLSXSheetRows)
		}
		rec, err := it.Columns()
		return rec, line, err
	}
	header, _, err := next()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("tệp trống / empty file")
	}
	if err != nil {
		return nil, err
	}
	return readRows(header, next)
}

// ReadList reads a list of people in the format its file name says: XLSX
// for ".xlsx" (any case), else CSV. The CLI and the admin web's uploads
// (imports and provisioning requests) all read lists through here.
func ReadList(name string, r io.Reader) ([]Row, error) {
	if strings.EqualFold(filepath.Ext(name), ".xlsx") {
		return ReadXLSX(r)
	}
	return ReadCSV(r)
}
