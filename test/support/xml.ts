/**
 * A strict reader of the XML the runbook writes (its SVG charts): elements, attributes, text and the five
 * predefined and numeric entities, nothing else. It throws on what an XML parser must refuse (an unclosed or
 * crossed tag, a raw `<` or `&`, an unquoted or repeated attribute, a control character), so a test that reads
 * a chart with it proves the chart well-formed, not just that a lenient parser coped.
 */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** The element's own text, entities decoded. */
  readonly text: string;
}

const NAME = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(raw: string, where: number): string {
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(raw)) throw new SyntaxError(`a control character near ${where}`);
  return raw.replace(/&([^;]*);|&/g, (whole, entity: string | undefined) => {
    if (entity === undefined) throw new SyntaxError(`a raw & near ${where}`);
    const numeric = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(entity);
    if (numeric) return String.fromCodePoint(parseInt(numeric[1] ?? numeric[2], numeric[1] ? 16 : 10));
    if (!(entity in ENTITIES)) throw new SyntaxError(`an unknown entity ${whole} near ${where}`);
    return ENTITIES[entity];
  });
}

export function parseXml(source: string): XmlElement {
  let at = 0;
  const name = (): string => {
    NAME.lastIndex = at;
    const match = NAME.exec(source);
    if (!match) throw new SyntaxError(`a name expected at ${at}`);
    at += match[0].length;
    return match[0];
  };
  const space = () => {
    while (/\s/.test(source[at] ?? '')) at += 1;
  };
  const element = (): XmlElement => {
    if (source[at] !== '<') throw new SyntaxError(`< expected at ${at}`);
    at += 1;
    const tag = name();
    const attributes: Record<string, string> = {};
    for (;;) {
      const before = at;
      space();
      if (source.startsWith('/>', at)) {
        at += 2;
        return { name: tag, attributes, children: [], text: '' };
      }
      if (source[at] === '>') {
        at += 1;
        break;
      }
      if (at === before) throw new SyntaxError(`space expected before an attribute at ${at}`);
      const attribute = name();
      if (attribute in attributes) throw new SyntaxError(`attribute ${attribute} repeated at ${at}`);
      space();
      if (source[at] !== '=') throw new SyntaxError(`= expected at ${at}`);
      at += 1;
      space();
      const quote = source[at];
      if (quote !== '"' && quote !== "'") throw new SyntaxError(`a quoted value expected at ${at}`);
      const end = source.indexOf(quote, at + 1);
      if (end === -1) throw new SyntaxError(`an unterminated value at ${at}`);
      const raw = source.slice(at + 1, end);
      if (raw.includes('<')) throw new SyntaxError(`a raw < in an attribute at ${at}`);
      attributes[attribute] = decode(raw, at);
      at = end + 1;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      const next = source.indexOf('<', at);
      if (next === -1) throw new SyntaxError(`<${tag}> is never closed`);
      text += decode(source.slice(at, next), at);
      at = next;
      if (source.startsWith('</', at)) {
        at += 2;
        const closing = name();
        if (closing !== tag) throw new SyntaxError(`</${closing}> closes <${tag}> at ${at}`);
        space();
        if (source[at] !== '>') throw new SyntaxError(`> expected at ${at}`);
        at += 1;
        return { name: tag, attributes, children, text };
      }
      children.push(element());
    }
  };
  space();
  const root = element();
  space();
  if (at !== source.length) throw new SyntaxError(`content after the root element at ${at}`);
  return root;
}

/** Every element under (and including) `root`, depth first. */
export function allElements(root: XmlElement): XmlElement[] {
  return [root, ...root.children.flatMap(allElements)];
}
