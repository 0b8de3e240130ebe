// nameKey(): the one definition of when two userNames (or group displayNames) are one name.
import { describe, expect, it } from 'vitest';
import { foldName, invisibleCharacterIn, nameKey, showName } from './name-key.ts';

function* everyCodePoint() {
  for (let cp = 0; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) yield String.fromCodePoint(cp);
}

describe('nameKey', () => {
  it('is one key for case, surrounding spaces, invisible characters and both Unicode forms', () => {
    const nfc = 'Élodie Ørsted'.normalize('NFC');
    for (const alike of [nfc.normalize('NFD'), ` ${nfc.toUpperCase()}\u3000`, `É\u200blodie\u00ad Ørsted\ufeff`, `\u202eélodie ørsted`]) {
      expect(nameKey(alike), JSON.stringify(alike)).toBe(nameKey(nfc));
    }
    expect(nameKey('élodie ørsted')).toBe('élodie ørsted');
    // Inner spaces and look-alike letters of other scripts stay distinct.
    expect(nameKey('ada lovelace')).not.toBe(nameKey('adalovelace'));
    expect(nameKey('ada')).not.toBe(nameKey('аda')); // Cyrillic а
  });

  it('has no key for nothing visible', () => {
    for (const blank of [null, undefined, '', '   ', '\u200b', ' \u2060\u00a0 ']) expect(nameKey(blank)).toBeNull();
  });

  it('is the same key for the NFC and NFD form of every code point, and the key of a key is that key', () => {
    const differ: string[] = [];
    for (const ch of everyCodePoint()) {
      const key = nameKey(`a${ch}`);
      if (nameKey(`a${ch.normalize('NFD')}`) !== key || (key !== null && nameKey(key) !== key) || foldName(`a${ch}`).trim() !== key) differ.push(ch.codePointAt(0)!.toString(16));
    }
    expect(differ).toEqual([]);
  });

  it('finds the first invisible character, and shows a name with its invisible characters written out', () => {
    expect(invisibleCharacterIn('ada@x.test')).toBeNull();
    expect(invisibleCharacterIn('ad\u200ba\u2066')).toEqual({ codePoint: 'U+200B', index: 2 });
    expect(invisibleCharacterIn('a\u{e0041}')).toEqual({ codePoint: 'U+E0041', index: 1 });
    expect(showName('ad\u200ba\u0007')).toBe('"ad\\u{200b}a\\u{7}"');
  });
});
