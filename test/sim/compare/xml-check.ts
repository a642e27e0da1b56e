// A small well-formedness checker for the SVG the report writes (no XML dependency): one root element,
// tags balanced and properly nested, attributes quoted and not repeated, entities known. Returns the
// elements in document order, with their attributes and direct text.

/** An element of the document. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  text: string;
}

const NAME = /^[A-Za-z_][\w.-]*(:[\w.-]+)?$/;

function checkEntities(s: string): string {
  const bad = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(s);
  if (bad) throw new Error(`unescaped & at ${bad.index}`);
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** Parses `xml`, throwing on anything not well-formed. */
export function xmlElements(xml: string): XmlElement[] {
  const out: XmlElement[] = [];
  const stack: XmlElement[] = [];
  let roots = 0;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = lt < 0 ? xml.slice(i) : xml.slice(i, lt);
    if (text.includes('>')) throw new Error(`stray > at ${i}`);
    if (text.trim() !== '') {
      if (stack.length === 0) throw new Error(`text outside the root at ${i}`);
      stack[stack.length - 1].text += checkEntities(text);
    }
    if (lt < 0) break;
    const gt = xml.indexOf('>', lt);
    if (gt < 0) throw new Error(`unclosed tag at ${lt}`);
    const tag = xml.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const open = stack.pop();
      if (!open || open.name !== tag.slice(1).trim()) throw new Error(`</${tag.slice(1)}> does not close <${open?.name ?? ''}>`);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const m = /^([^\s]+)([\s\S]*)$/.exec(body);
    if (!m || !NAME.test(m[1])) throw new Error(`bad tag <${tag}>`);
    const attrs: Record<string, string> = {};
    let rest = m[2];
    const attr = /^\s+([A-Za-z_:][\w:.-]*)="([^"<]*)"/;
    for (let a = attr.exec(rest); a; a = attr.exec(rest)) {
      if (a[1] in attrs) throw new Error(`attribute ${a[1]} repeated in <${m[1]}>`);
      attrs[a[1]] = checkEntities(a[2]);
      rest = rest.slice(a[0].length);
    }
    if (rest.trim() !== '') throw new Error(`bad attributes in <${tag}>: ${rest}`);
    const el: XmlElement = { name: m[1], attrs, text: '' };
    if (stack.length === 0) roots++;
    out.push(el);
    if (!selfClosing) stack.push(el);
  }
  if (stack.length > 0) throw new Error(`<${stack[stack.length - 1].name}> is never closed`);
  if (roots !== 1) throw new Error(`expected one root element, found ${roots}`);
  return out;
}
