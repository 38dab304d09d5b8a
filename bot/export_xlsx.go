package bot

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"

	"clubbot/club"
	"clubbot/export"
)

// Sheet names of the XLSX export.
const (
	SheetReports = "Báo cáo"
	SheetTotals  = "Tổng hợp"
)

// xlsxWriter writes the XLSX export with excelize's StreamWriter: rows go to an in-memory
// buffer that spills to a temporary file past 16 MB, so memory stays flat however many
// reports there are. Totals by province and commune accumulate in small maps and become
// the second sheet at Close, when the workbook is zipped straight into the response.
type xlsxWriter struct {
	out    io.Writer
	f      *excelize.File
	sw     *excelize.StreamWriter
	layout *export.Layout
	totals *export.Totals
	prov   *club.Provinces
	loc    *time.Location
	row    int
	cells  []export.Cell
	vals   []any
	bold   int
}

func newXLSX(out io.Writer, l *export.Layout, p *club.Provinces, loc *time.Location) (*xlsxWriter, error) {
	x := &xlsxWriter{out: out, f: excelize.NewFile(), layout: l, totals: export.NewTotals(), prov: p, loc: loc}
	if err := x.start(); err != nil {
		x.discard()
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	return x, nil
}

func (x *xlsxWriter) start() error {
	var err error
	if err = x.f.SetSheetName("Sheet1", SheetReports); err != nil {
		return err
	}
	if x.bold, err = x.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return err
	}
	if x.sw, err = x.f.NewStreamWriter(SheetReports); err != nil {
		return err
	}
	cols := x.layout.Columns()
	// Widths and panes must be set before the first row.
	if err := x.sw.SetColWidth(1, len(cols), 16); err != nil {
		return err
	}
	if err := x.sw.SetColWidth(3, 3, 32); err != nil { // club name
		return err
	}
	if err := x.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	head := make([]any, len(cols))
	for i, c := range cols {
		head[i] = excelize.Cell{StyleID: x.bold, Value: c.Header}
	}
	x.row = 1
	return x.sw.SetRow("A1", head)
}

// Write adds one report's row and counts it in the totals.
func (x *xlsxWriter) Write(r *club.Report, m export.Meta) error {
	if x.row >= excelize.TotalRows {
		return errors.New("xlsx: more reports than a sheet holds (1,048,575); narrow from/to or use csv")
	}
	x.totals.Add(r)
	x.cells = x.layout.Row(x.cells[:0], r, m, x.loc)
	x.vals = x.vals[:0]
	for _, c := range x.cells {
		x.vals = append(x.vals, c.Value())
	}
	x.row++
	cell, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, x.vals)
}

// Close ends the reports sheet, writes the totals sheet and the workbook.
func (x *xlsxWriter) Close() error {
	defer x.discard()
	if err := x.sw.Flush(); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if err := x.writeTotals(); err != nil {
		return fmt.Errorf("xlsx totals: %w", err)
	}
	// excelize's WriteTo builds the whole zip in a bytes.Buffer before copying it out, which
	// would hold the finished file in memory (20 MB for 200,000 reports, growing with the
	// export). Its zip writer is pluggable: this one writes straight to the response and
	// leaves excelize's buffer empty. (That buffer is only patched for zip64 entries, which
	// a sheet needs past 4 GB — far beyond a sheet's 1,048,576-row limit here.)
	x.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(x.out) })
	if _, err := x.f.WriteTo(io.Discard); err != nil {
		return fmt.Errorf("xlsx: write: %w", err)
	}
	return nil
}

// writeTotals writes the sheet of totals: each commune, each province's subtotal, the total.
func (x *xlsxWriter) writeTotals() error {
	if _, err := x.f.NewSheet(SheetTotals); err != nil {
		return err
	}
	sw, err := x.f.NewStreamWriter(SheetTotals)
	if err != nil {
		return err
	}
	if err := sw.SetColWidth(1, 2, 28); err != nil {
		return err
	}
	if err := sw.SetColWidth(3, 6, 16); err != nil {
		return err
	}
	head := []any{"Tỉnh/Thành phố", "Xã/Phường", "Số báo cáo", "Số CLB báo cáo", "Số báo cáo có họp", "Tổng số người dự"}
	for i, h := range head {
		head[i] = excelize.Cell{StyleID: x.bold, Value: h}
	}
	if err := sw.SetRow("A1", head); err != nil {
		return err
	}
	for i, t := range x.totals.Rows(x.prov) {
		province, commune := t.Province, t.Commune
		var opts []excelize.RowOpts
		switch t.Level {
		case export.LevelProvince:
			commune = "Cộng " + province
			opts = append(opts, excelize.RowOpts{StyleID: x.bold})
		case export.LevelAll:
			province, commune = "Tổng cộng", ""
			opts = append(opts, excelize.RowOpts{StyleID: x.bold})
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, []any{province, commune, t.Reports, t.Clubs, t.Held, t.Attendance}, opts...); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// discard releases the workbook and its temporary files.
func (x *xlsxWriter) discard() {
	if x.f != nil {
		_ = x.f.Close()
		x.f = nil
	}
}
