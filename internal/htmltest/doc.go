// Package htmltest holds the check the HTML report's tests share (the
// page as rendered in results/report, the DOM a browser built in the
// root's browser test): the page is inert, with no element that runs or
// loads anything and no event handler, whatever strings from a target
// it shows. Only tests import it; it must hold nothing else.
package htmltest
