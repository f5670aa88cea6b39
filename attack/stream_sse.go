package attack

import "bytes"

// maxEvent bounds what the SSE parser keeps of one line and of one
// event's data: beyond it the rest is dropped (the event is still
// dispatched, truncated), so that a stream without line breaks cannot
// grow the attacker's memory without end.
const maxEvent = 1 << 20

// sseParser parses a text/event-stream body incrementally, as its bytes
// arrive, the way the WHATWG HTML Living Standard, section 9.2.6
// "Interpreting an event stream", says
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
// lines end with CRLF, LF or CR; a leading BOM is skipped; a line that
// starts with a colon is a comment; "field: value" loses one space after
// the colon; data lines are joined with LF; an empty line dispatches the
// event, unless its data buffer is empty; an event cut off by the end of
// the stream is not dispatched. The id and retry fields change nothing
// the attacker measures and are ignored.
type sseParser struct {
	line     []byte // the current line, when a read ended inside it
	afterCR  bool   // the last byte seen was CR: a LF next ends nothing
	started  bool   // the first bytes were seen (BOM check done)
	bom      int    // BOM bytes matched so far, at the very start
	event    []byte // the event type buffer
	data     []byte // the data buffer
	dispatch func(event, data []byte)
}

// utf8BOM is U+FEFF in UTF-8, which the stream may start with.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// feed parses b, the next bytes of the stream, calling dispatch for each
// event it completes. The slices dispatch gets are valid only during the
// call.
func (p *sseParser) feed(b []byte) {
	if !p.started {
		// Skip a BOM, which may itself arrive over several reads.
		for len(b) > 0 && p.bom < len(utf8BOM) && b[0] == utf8BOM[p.bom] {
			b, p.bom = b[1:], p.bom+1
		}
		if len(b) == 0 && p.bom < len(utf8BOM) {
			return // perhaps more of the BOM to come
		}
		if p.bom > 0 && p.bom < len(utf8BOM) {
			// Only part of a BOM: those bytes were the stream's own.
			p.appendLine(utf8BOM[:p.bom])
		}
		p.started = true
	}
	for len(b) > 0 {
		if p.afterCR {
			p.afterCR = false
			if b[0] == '\n' {
				b = b[1:]
				continue
			}
		}
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			p.appendLine(b)
			return
		}
		var line []byte
		if len(p.line) > 0 {
			p.appendLine(b[:i])
			line = p.line
		} else {
			line = b[:i]
		}
		p.afterCR = b[i] == '\r'
		b = b[i+1:]
		p.processLine(line)
		p.line = p.line[:0]
	}
}

func (p *sseParser) appendLine(b []byte) {
	if room := maxEvent - len(p.line); len(b) > room {
		b = b[:max(room, 0)]
	}
	p.line = append(p.line, b...)
}

// processLine handles one whole line, without its end.
func (p *sseParser) processLine(line []byte) {
	if len(line) == 0 {
		p.dispatchEvent()
		return
	}
	if line[0] == ':' {
		return // a comment
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "event":
		p.event = append(p.event[:0], value...)
	case "data":
		if room := maxEvent - len(p.data) - 1; len(value) > room {
			value = value[:max(room, 0)]
		}
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
	}
}

// dispatchEvent ends the event being built.
func (p *sseParser) dispatchEvent() {
	if len(p.data) == 0 {
		p.event = p.event[:0]
		return
	}
	data := p.data
	if data[len(data)-1] == '\n' {
		data = data[:len(data)-1]
	}
	if p.dispatch != nil {
		p.dispatch(p.event, data)
	}
	p.event, p.data = p.event[:0], p.data[:0]
}
