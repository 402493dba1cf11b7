import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { PEER_ADAPTERS } from '../testing/fixtures';
import { PyFloat, pythonFloatRepr, toPythonJson } from './python-json';

describe('pythonFloatRepr', () => {
  it.each([
    [0, '0.0'],
    [8, '8.0'],
    [0.85, '0.85'],
    [1e-5, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [0.0001, '0.0001'],
    [1e16, '1e+16'],
    [123456789012345.6, '123456789012345.6'],
    [-2.5, '-2.5'],
  ])('%p -> %s', (x, text) => {
    expect(pythonFloatRepr(x)).toBe(text);
  });

  it('always parses back to the same double', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => Object.is(Number(pythonFloatRepr(x)), x) || (x === 0 && Number(pythonFloatRepr(x)) === 0)));
  });
});

describe('toPythonJson', () => {
  it('sorts keys, indents by two, escapes non-ASCII and writes PyFloat with a point', () => {
    expect(toPythonJson({ b: [1, 'é'], a: { y: null, x: new PyFloat(0) }, c: [], d: {} })).toBe(
      '{\n  "a": {\n    "x": 0.0,\n    "y": null\n  },\n  "b": [\n    1,\n    "\\u00e9"\n  ],\n  "c": [],\n  "d": {}\n}',
    );
  });

  it('reproduces a PEFT-written adapter_config.json byte for byte once its floats are marked', async () => {
    const text = await readFile(nodePath.join(PEER_ADAPTERS, 'gpt2-adalora/adapter_config.json'), 'utf8');
    const parsed = JSON.parse(text) as Record<string, unknown>;
    for (const k of ['lora_dropout', 'beta1', 'beta2', 'orth_reg_weight']) parsed[k] = new PyFloat(parsed[k] as number);
    expect(toPythonJson(parsed)).toBe(text);
  });

  it('refuses values JSON cannot hold', () => {
    expect(() => toPythonJson({ a: Number.NaN })).toThrow('$.a');
    expect(() => toPythonJson({ f: () => 1 })).toThrow('cannot write a function');
  });
});
