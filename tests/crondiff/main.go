// crondiff: the independent side of the schedule library's differential test.
// It generates random cron expressions, zones and start times, and prints what
// robfig/cron/v3 (the parser of Kubernetes' CronJob, used the way the CronJob
// controller uses it: "TZ=<zone> <schedule>" through ParseStandard) says is the
// next time after each start. One line per case, tab-separated:
//
//	expression  zone  after  result
//
// with result "OK <unix seconds>", "NONE" (robfig found nothing: its 5-year
// limit) or "ERR <message>". tests/crondiff/run.sh feeds the lines to the C side.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

type field struct {
	min, max int
	names    []string
}

var fields = []field{
	{0, 59, nil},
	{0, 23, nil},
	{1, 31, nil},
	{1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{0, 6, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

var descriptors = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight",
	"@hourly", "@every 90m"}

// value writes v as a number, or (for month and day-of-week, sometimes) as a
// name in a random case; day-of-week 0 is sometimes written 7.
func value(r *rand.Rand, f field, v int) string {
	if f.names != nil && r.Intn(3) == 0 {
		n := f.names[v-f.min]
		switch r.Intn(3) {
		case 0:
			n = strings.ToUpper(n)
		case 1:
			n = strings.ToUpper(n[:1]) + n[1:]
		}
		return n
	}
	if f.min == 0 && f.max == 6 && v == 0 && r.Intn(8) == 0 {
		return "7"
	}
	return strconv.Itoa(v)
}

func between(r *rand.Rand, lo, hi int) int {
	return lo + r.Intn(hi-lo+1)
}

// item is one list item of field f in one of the syntax forms.
func item(r *rand.Rand, f field, fi int) string {
	size := f.max - f.min + 1
	step := between(r, 1, size/2+1)
	if r.Intn(200) == 0 {
		step = size + r.Intn(5) // larger than the field: refused by us only
	}
	a := between(r, f.min, f.max)
	b := between(r, a, f.max)
	switch r.Intn(10) {
	case 0:
		return "*/" + strconv.Itoa(step)
	case 1, 2:
		return value(r, f, a) + "-" + value(r, f, b)
	case 3:
		return value(r, f, a) + "-" + value(r, f, b) + "/" + strconv.Itoa(step)
	case 4:
		return value(r, f, a) + "/" + strconv.Itoa(step)
	case 5:
		if fi == 4 && r.Intn(10) == 0 {
			return value(r, f, a) + "-7"
		}
		return value(r, f, a)
	default:
		return value(r, f, a)
	}
}

func fieldExpr(r *rand.Rand, f field, fi int) string {
	switch n := r.Intn(20); {
	case n < 7:
		return "*"
	case n < 8:
		return "?"
	case n < 14:
		return item(r, f, fi)
	default:
		items := make([]string, between(r, 2, 4))
		for i := range items {
			items[i] = item(r, f, fi)
		}
		return strings.Join(items, ",")
	}
}

func expression(r *rand.Rand) string {
	if r.Intn(25) == 0 {
		return descriptors[r.Intn(len(descriptors))]
	}
	parts := make([]string, 5)
	for i, f := range fields {
		parts[i] = fieldExpr(r, f, i)
	}
	// Often a fixed minute and hour in the small hours, where DST changes happen.
	if r.Intn(3) == 0 {
		parts[0] = strconv.Itoa(r.Intn(4) * 15)
		parts[1] = strconv.Itoa(r.Intn(4))
	}
	return strings.Join(parts, " ")
}

// start is a random second from 2000 to 2100; in half the cases it is moved to
// shortly before one of the zone's offset changes (within two days, or within
// three hours), where the DST rules matter.
func start(r *rand.Rand, loc *time.Location) time.Time {
	lo := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	t := time.Unix(lo+r.Int63n(hi-lo), 0).In(loc)
	_, end := t.ZoneBounds()
	switch {
	case end.IsZero() || r.Intn(2) == 0:
		return t
	case r.Intn(2) == 0:
		return end.Add(-time.Duration(r.Int63n(2*86400)) * time.Second)
	default:
		return end.Add(-time.Duration(r.Int63n(3*3600)) * time.Second)
	}
}

// next runs robfig's Next with a deadline: it loops forever on some days whose
// midnight a DST change skips (America/Havana, Asia/Gaza, ...). Such a case is
// "HANG"; its goroutine spins on until the program ends.
func next(expr, zone string, after time.Time) string {
	s, err := cron.ParseStandard("TZ=" + zone + " " + expr)
	if err != nil {
		return "ERR " + strings.ReplaceAll(err.Error(), "\t", " ")
	}
	done := make(chan time.Time, 1)
	go func() { done <- s.Next(after) }()
	select {
	case t := <-done:
		if t.IsZero() {
			return "NONE"
		}
		return "OK " + strconv.FormatInt(t.Unix(), 10)
	case <-time.After(2 * time.Second):
		return "HANG"
	}
}

func main() {
	n := flag.Int("n", 10000, "number of cases")
	seed := flag.Int64("seed", 1, "random seed")
	zones := flag.String("zones", "UTC", "comma-separated IANA zones")
	flag.Parse()
	r := rand.New(rand.NewSource(*seed))
	zl := strings.Split(*zones, ",")
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for i := 0; i < *n; i++ {
		expr := expression(r)
		zone := zl[r.Intn(len(zl))]
		loc, err := time.LoadLocation(zone)
		if err != nil {
			fmt.Fprintf(os.Stderr, "crondiff: %v\n", err)
			os.Exit(2)
		}
		after := start(r, loc)
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", expr, zone, after.Unix(), next(expr, zone, after))
	}
}
