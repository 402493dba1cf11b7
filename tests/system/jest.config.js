module.exports = { ...require('../../jest.preset.js'), displayName: 'system', testTimeout: 900000 };
