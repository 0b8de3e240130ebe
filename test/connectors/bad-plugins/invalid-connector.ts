// A module exporting something that looks like a connector but is not valid.
export default { id: 'Bad Id', displayName: 'Bad', configSchema: {} };
